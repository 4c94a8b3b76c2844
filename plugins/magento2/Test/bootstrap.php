<?php
/**
 * PHPUnit bootstrap: the Magento shim, then the module's classes by PSR-4 as Composer maps them.
 */

declare(strict_types=1);

require_once __DIR__ . '/shim/magento.php';
require_once __DIR__ . '/shim/fakes.php';
require_once __DIR__ . '/Unit/Store.php';

spl_autoload_register(static function (string $class): void {
    $prefix = 'FollowUp\\Recovery\\';
    if (str_starts_with($class, $prefix) && !str_starts_with($class, $prefix . 'Test\\')) {
        $file = dirname(__DIR__) . '/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});

require_once dirname(__DIR__) . '/registration.php';
