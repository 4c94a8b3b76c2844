<?php

declare(strict_types=1);

namespace FollowUp\Recovery\Test\Unit;

use Magento\Framework\Component\ComponentRegistrar;
use PHPUnit\Framework\TestCase;

/** The declarations Magento reads: they must parse and name classes that exist. */
final class ModuleFilesTest extends TestCase
{
    private const ROOT = __DIR__ . '/../..';

    private function xml(string $path): \SimpleXMLElement
    {
        $xml = simplexml_load_file(self::ROOT . '/' . $path);
        $this->assertNotFalse($xml, "$path does not parse");
        return $xml;
    }

    public function testRegistrationAndModuleDeclarationAgree(): void
    {
        $this->assertSame(str_replace('\\', '/', realpath(self::ROOT)), str_replace('\\', '/', (string) realpath((string) ComponentRegistrar::getPath(ComponentRegistrar::MODULE, 'FollowUp_Recovery'))));
        $this->assertSame('FollowUp_Recovery', (string) $this->xml('etc/module.xml')->module['name']);
        $composer = json_decode((string) file_get_contents(self::ROOT . '/composer.json'), true);
        $this->assertSame('magento2-module', $composer['type']);
        $this->assertSame(['registration.php'], $composer['autoload']['files']);
    }

    public function testEventsWireObserversThatExist(): void
    {
        $wired = [];
        foreach ($this->xml('etc/events.xml')->event as $event) {
            $class = (string) $event->observer['instance'];
            $this->assertTrue(class_exists($class), $class);
            $this->assertContains('Magento\Framework\Event\ObserverInterface', class_implements($class));
            $wired[(string) $event['name']] = $class;
        }
        $this->assertSame([
            'sales_quote_save_after' => 'FollowUp\Recovery\Observer\QuoteSaved',
            'checkout_submit_all_after' => 'FollowUp\Recovery\Observer\OrderPlaced',
        ], $wired);
    }

    public function testAdminConfigHasTheConnectionFieldsWithTheSecretEncrypted(): void
    {
        $section = $this->xml('etc/adminhtml/system.xml')->system->section;
        $this->assertSame('FollowUp_Recovery::config', (string) $section->resource);
        $fields = [];
        foreach ($section->group->field as $field) {
            $fields[(string) $field['id']] = $field;
        }
        $this->assertSame(['enabled', 'app_url', 'store_id', 'secret'], array_keys($fields));
        $this->assertSame('obscure', (string) $fields['secret']['type']);
        $this->assertSame('Magento\Config\Model\Config\Backend\Encrypted', (string) $fields['secret']->backend_model);
        $defaults = $this->xml('etc/config.xml')->default->followup->connection;
        $this->assertSame('Magento\Config\Model\Config\Backend\Encrypted', (string) $defaults->secret['backend_model']);
        $acl = $this->xml('etc/acl.xml')->asXML();
        $this->assertStringContainsString('id="FollowUp_Recovery::config"', (string) $acl);
    }

    public function testRestoreRouteIsTheOneLinksPointAt(): void
    {
        $route = $this->xml('etc/frontend/routes.xml')->router->route;
        $this->assertSame('followup', (string) $route['frontName']);
        $this->assertTrue(class_exists('FollowUp\Recovery\Controller\Cart\Restore'));
        $this->assertContains('Magento\Framework\App\Action\HttpGetActionInterface', class_implements('FollowUp\Recovery\Controller\Cart\Restore'));
        $this->assertSame('followup/cart/restore', \FollowUp\Recovery\Model\RestoreLink::PATH);
    }
}
