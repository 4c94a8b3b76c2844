<?php
/**
 * The connection settings from Stores → Configuration → Sales → FollowUp Cart Recovery.
 */

declare(strict_types=1);

namespace FollowUp\Recovery\Model;

use Magento\Framework\App\Config\ScopeConfigInterface;
use Magento\Framework\Encryption\EncryptorInterface;
use Magento\Store\Model\ScopeInterface;

class Config
{
    public const PATH_ENABLED = 'followup/connection/enabled';
    public const PATH_APP_URL = 'followup/connection/app_url';
    public const PATH_STORE_ID = 'followup/connection/store_id';
    public const PATH_SECRET = 'followup/connection/secret';

    public function __construct(
        private readonly ScopeConfigInterface $scopeConfig,
        private readonly EncryptorInterface $encryptor
    ) {
    }

    public function isEnabled(int|string|null $storeId = null): bool
    {
        return $this->scopeConfig->isSetFlag(self::PATH_ENABLED, ScopeInterface::SCOPE_STORE, $storeId);
    }

    public function appUrl(int|string|null $storeId = null): string
    {
        $url = trim((string) $this->scopeConfig->getValue(self::PATH_APP_URL, ScopeInterface::SCOPE_STORE, $storeId));
        return rtrim($url, '/');
    }

    public function followUpStoreId(int|string|null $storeId = null): int
    {
        return (int) $this->scopeConfig->getValue(self::PATH_STORE_ID, ScopeInterface::SCOPE_STORE, $storeId);
    }

    /**
     * The shared secret, decrypted: the Encrypted backend model stores only its ciphertext.
     */
    public function secret(int|string|null $storeId = null): string
    {
        $stored = (string) $this->scopeConfig->getValue(self::PATH_SECRET, ScopeInterface::SCOPE_STORE, $storeId);
        return $stored === '' ? '' : trim((string) $this->encryptor->decrypt($stored));
    }

    public function isConfigured(int|string|null $storeId = null): bool
    {
        $scheme = strtolower((string) parse_url($this->appUrl($storeId), PHP_URL_SCHEME));
        return $this->isEnabled($storeId)
            && in_array($scheme, ['http', 'https'], true)
            && $this->followUpStoreId($storeId) > 0
            && $this->secret($storeId) !== '';
    }

    public function locale(int|string|null $storeId = null): string
    {
        return (string) $this->scopeConfig->getValue('general/locale/code', ScopeInterface::SCOPE_STORE, $storeId);
    }

    /**
     * Where events go: the app's Magento webhook route for this FollowUp store.
     */
    public function eventsUrl(int|string|null $storeId = null): string
    {
        return $this->appUrl($storeId) . '/webhooks/magento/' . $this->followUpStoreId($storeId);
    }
}
