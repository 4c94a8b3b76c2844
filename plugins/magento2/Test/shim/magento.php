<?php
/**
 * A small shim of the Magento framework classes and interfaces the module uses.
 *
 * Names, signatures and behaviour follow Magento 2.4 closely enough for the module's use
 * (DataObject's magic accessors, a quote dropping a coupon that does not apply when totals are
 * collected, Curl posting a string body as is); it is not a Magento. In-memory implementations
 * of the interfaces live in fakes.php.
 */

declare(strict_types=1);

namespace Psr\Log {
    interface LoggerInterface
    {
        public function error(string|\Stringable $message, array $context = []): void;
        public function warning(string|\Stringable $message, array $context = []): void;
        public function info(string|\Stringable $message, array $context = []): void;
    }
}

namespace Magento\Framework\Component {
    class ComponentRegistrar
    {
        public const MODULE = 'module';
        /** @var array<string, array<string, string>> */
        private static array $paths = [self::MODULE => []];

        public static function register(string $type, string $name, string $path): void
        {
            if (isset(self::$paths[$type][$name])) {
                throw new \LogicException(ucfirst($type) . " '$name' from '$path' has been already defined");
            }
            self::$paths[$type][$name] = str_replace('\\', '/', $path);
        }

        public static function getPath(string $type, string $name): ?string
        {
            return self::$paths[$type][$name] ?? null;
        }
    }
}

namespace Magento\Framework {
    class DataObject
    {
        /** @param array<string, mixed> $data */
        public function __construct(protected array $_data = [])
        {
        }

        public function getData(?string $key = null): mixed
        {
            return $key === null ? $this->_data : ($this->_data[$key] ?? null);
        }

        public function setData(string $key, mixed $value): static
        {
            $this->_data[$key] = $value;
            return $this;
        }

        public function __call(string $method, array $args): mixed
        {
            $key = strtolower((string) preg_replace('/(.)([A-Z])/', '$1_$2', substr($method, 3)));
            return match (substr($method, 0, 3)) {
                'get' => $this->_data[$key] ?? null,
                'set' => $this->setData($key, $args[0] ?? null),
                'has' => isset($this->_data[$key]),
                default => throw new \BadMethodCallException("Invalid method " . static::class . "::$method"),
            };
        }
    }

    interface UrlInterface
    {
        public function getUrl(?string $routePath = null, ?array $routeParams = null): string;
    }
}

namespace {
    /** Magento's translation helper: %1, %2 ... replaced by the arguments. */
    function __(string $text, mixed ...$args): string
    {
        foreach ($args as $i => $arg) {
            $text = str_replace('%' . ($i + 1), (string) $arg, $text);
        }
        return $text;
    }
}

namespace Magento\Framework\App\Config {
    interface ScopeConfigInterface
    {
        public const SCOPE_TYPE_DEFAULT = 'default';
        public function getValue(string $path, string $scopeType = self::SCOPE_TYPE_DEFAULT, mixed $scopeCode = null): mixed;
        public function isSetFlag(string $path, string $scopeType = self::SCOPE_TYPE_DEFAULT, mixed $scopeCode = null): bool;
    }
}

namespace Magento\Store\Model {
    interface ScopeInterface
    {
        public const SCOPE_STORE = 'store';
        public const SCOPE_WEBSITE = 'website';
    }

    class Store extends \Magento\Framework\DataObject
    {
        public function getId(): mixed
        {
            return $this->_data['store_id'] ?? null;
        }

        public function getBaseUrl(string $type = 'link', ?bool $secure = null): string
        {
            return (string) $this->getData('base_url');
        }
    }

    interface StoreManagerInterface
    {
        public function getStore(mixed $storeId = null): Store;
    }
}

namespace Magento\Framework\Encryption {
    interface EncryptorInterface
    {
        public function encrypt(string $data): string;
        public function decrypt(string $data): string;
    }
}

namespace Magento\Framework\App {
    interface CacheInterface
    {
        public function load(string $identifier): string|false;
        public function save(string $data, string $identifier, array $tags = [], ?int $lifeTime = null): bool;
        public function remove(string $identifier): bool;
    }

    interface RequestInterface
    {
        public function getParam(string $key, mixed $defaultValue = null): mixed;
        public function getParams(): array;
    }
}

namespace Magento\Framework\App\Action {
    interface ActionInterface
    {
        public function execute(): \Magento\Framework\Controller\ResultInterface;
    }

    interface HttpGetActionInterface extends ActionInterface
    {
    }
}

namespace Magento\Framework\Controller {
    interface ResultInterface
    {
    }

    class ResultFactory
    {
        public const TYPE_REDIRECT = 'redirect';

        public function create(string $type, array $arguments = []): Result\Redirect
        {
            if ($type !== self::TYPE_REDIRECT) {
                throw new \InvalidArgumentException("shim has no result type $type");
            }
            return new Result\Redirect();
        }
    }
}

namespace Magento\Framework\Controller\Result {
    class Redirect implements \Magento\Framework\Controller\ResultInterface
    {
        public ?string $path = null;

        public function setPath(string $path, array $params = []): static
        {
            $this->path = $path;
            return $this;
        }
    }
}

namespace Magento\Framework\Exception {
    class LocalizedException extends \Exception
    {
    }

    class NoSuchEntityException extends LocalizedException
    {
    }
}

namespace Magento\Framework\Message {
    interface ManagerInterface
    {
        public function addErrorMessage(string $message, ?string $group = null): static;
        public function addWarningMessage(string $message, ?string $group = null): static;
        public function addNoticeMessage(string $message, ?string $group = null): static;
        public function addSuccessMessage(string $message, ?string $group = null): static;
    }
}

namespace Magento\Framework\Event {
    class Observer extends \Magento\Framework\DataObject
    {
        public function getEvent(): \Magento\Framework\Event
        {
            return $this->_data['event'];
        }
    }

    interface ObserverInterface
    {
        public function execute(Observer $observer);
    }
}

namespace Magento\Framework {
    class Event extends DataObject
    {
    }
}

namespace Magento\Framework\HTTP {
    class Header
    {
        public function __construct(private string $userAgent = '')
        {
        }

        public function getHttpUserAgent(bool $clean = true): string
        {
            return $this->userAgent;
        }
    }
}

namespace Magento\Framework\HTTP\Client {
    /** Records what would be sent; the answer is scripted by the test (fakes.php). */
    class Curl
    {
        /** @var array<string, string> */
        public array $headers = [];
        public int $timeout = 300;
        private int $status = 0;
        private string $body = '';

        public function __construct(private CurlFactory $factory)
        {
        }

        public function setTimeout(int $value): void
        {
            $this->timeout = $value;
        }

        /** @param array<string, string> $headers */
        public function setHeaders(array $headers): void
        {
            $this->headers = $headers;
        }

        /** Magento's Curl posts a string as the raw body and an array as a form. */
        public function post(string $uri, array|string $params): void
        {
            $this->factory->sent[] = ['url' => $uri, 'headers' => $this->headers, 'body' => is_array($params) ? http_build_query($params) : $params];
            $answer = array_shift($this->factory->answers) ?? [200, '{"status":"accepted"}'];
            if ($answer instanceof \Exception) {
                throw $answer;
            }
            [$this->status, $this->body] = $answer;
        }

        public function getStatus(): int
        {
            return $this->status;
        }

        public function getBody(): string
        {
            return $this->body;
        }
    }

    class CurlFactory
    {
        /** @var list<array{url: string, headers: array<string, string>, body: string}> */
        public array $sent = [];
        /** @var list<array{int, string}|\Exception> scripted answers; 200 once they run out */
        public array $answers = [];

        public function create(array $data = []): Curl
        {
            return new Curl($this);
        }
    }
}

namespace Magento\Catalog\Model {
    class Product extends \Magento\Framework\DataObject
    {
    }
}

namespace Magento\Quote\Model\Quote {
    class Address extends \Magento\Framework\DataObject
    {
    }

    class Item extends \Magento\Framework\DataObject
    {
        /** @return list<Item> */
        public function getChildren(): array
        {
            return $this->_data['children'] ?? [];
        }
    }
}

namespace Magento\Quote\Model {
    class Quote extends \Magento\Framework\DataObject
    {
        /** Coupon codes that apply when totals are collected (the shim's sales rules). */
        public static array $validCoupons = [];

        public function getId(): mixed
        {
            return $this->_data['entity_id'] ?? null;
        }

        public function getBillingAddress(): Quote\Address
        {
            return $this->_data['billing_address'] ??= new Quote\Address();
        }

        public function getShippingAddress(): Quote\Address
        {
            return $this->_data['shipping_address'] ??= new Quote\Address();
        }

        public function isVirtual(): bool
        {
            return (bool) ($this->_data['is_virtual'] ?? false);
        }

        /** @return list<Quote\Item> */
        public function getAllVisibleItems(): array
        {
            return $this->_data['items'] ?? [];
        }

        public function getItemsCount(): int
        {
            return count($this->getAllVisibleItems());
        }

        /** Like Magento, a coupon no sales rule accepts is dropped when totals are collected. */
        public function collectTotals(): static
        {
            $code = (string) ($this->_data['coupon_code'] ?? '');
            if ($code !== '' && !in_array(strtoupper($code), array_map('strtoupper', self::$validCoupons), true)) {
                $this->_data['coupon_code'] = '';
            }
            $this->_data['totals_collected'] = ($this->_data['totals_collected'] ?? 0) + 1;
            return $this;
        }
    }
}

namespace Magento\Quote\Api {
    interface CartRepositoryInterface
    {
        /** @throws \Magento\Framework\Exception\NoSuchEntityException */
        public function get(int $cartId, array $sharedStoreIds = []): \Magento\Quote\Model\Quote;
        public function save(\Magento\Quote\Model\Quote $quote): void;
    }
}

namespace Magento\Sales\Model {
    class Order extends \Magento\Framework\DataObject
    {
        public function getId(): mixed
        {
            return $this->_data['entity_id'] ?? null;
        }

        public function getBillingAddress(): ?\Magento\Quote\Model\Quote\Address
        {
            return $this->_data['billing_address'] ?? null;
        }
    }
}

namespace Magento\Checkout\Model {
    class Session extends \Magento\Framework\DataObject
    {
        public function replaceQuote(\Magento\Quote\Model\Quote $quote): static
        {
            $this->_data['quote'] = $quote;
            $this->_data['quote_id'] = $quote->getId();
            return $this;
        }
    }
}

namespace Magento\Customer\Model {
    class Session extends \Magento\Framework\DataObject
    {
    }
}
